"""The agent harness: task environments, tools, and the sandbox that runs model-written code."""
