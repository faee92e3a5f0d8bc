"""Async client for streaming chat against a LangGraph deployment."""
