"""Releasing: which models changed at a commit, which bump each gets and why, then the tags."""
