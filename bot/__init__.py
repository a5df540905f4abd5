"""newsbot: a Discord bot that shares curated news."""
