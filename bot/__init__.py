"""Liaison bot: township united-front network on Telegram."""
