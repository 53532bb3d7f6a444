"""Who the caller is: accounts, passwords, sessions and API keys."""
