"""Drills against the real `liaison-bot run` process: kills, an outage, a burst, a flood, fuzz."""
