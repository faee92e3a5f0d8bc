"""Test infrastructure: a scripted fake OpenAI server and a `langgraph dev` manager."""
