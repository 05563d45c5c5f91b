"""The runner: connects out to the hub and runs the agents of the teams it serves."""
