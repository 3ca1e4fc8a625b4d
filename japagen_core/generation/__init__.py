"""LLM generation and annotation: prompt specs, the chat client, cleaning, runs."""
