"""The remote client: ChatClient and its sessions over langgraph-sdk (HTTP)."""
