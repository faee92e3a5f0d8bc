"""Two LangGraph graphs for streaming chat: a summarizing chatbot and a tool-calling agent.

`./agent/chatbot.py:graph` and `./agent/agent.py:graph` are registered in `langgraph.json` and
served by `langgraph dev` (or a hosted LangGraph server). Their builders are exported
too, so in-process code can compile them with its own checkpointer.
"""
