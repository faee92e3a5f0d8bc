"""In-process mode: the graphs run in this process and stream the same typed events.

Graphs are passed in; nothing here imports `agent`.
"""
