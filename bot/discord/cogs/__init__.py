"""One Cog per concern, each an extension loaded by the bot's setup_hook."""
