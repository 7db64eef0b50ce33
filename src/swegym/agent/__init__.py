"""Agents: a Gymnasium environment over the sandbox, CodeAct tools, model clients, the loop."""
