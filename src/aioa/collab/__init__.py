"""Team collaboration: comments and annotations on days, metrics and incidents, and saved views shared by URL."""
