"""Prompts used by the graphs."""

SYSTEM_PROMPT = "You are a helpful, concise assistant."

AGENT_SYSTEM_PROMPT = (
    "You are a helpful, concise assistant. Use the arithmetic tools for every "
    "calculation instead of computing in your head, then state the result."
)

SIGNED_IN_USER = "The signed-in user's name is {name}."
"""Appended to the system prompt when the server says who the user is (`agent.user`)."""

SUMMARY_SYSTEM_PREFIX = "Summary of conversation earlier: "

CREATE_SUMMARY_PROMPT = "Create a summary of the conversation above:"

EXTEND_SUMMARY_PROMPT = (
    "This is summary of the conversation to date: {summary}\n\n"
    "Extend the summary by taking into account the new messages above:"
)
