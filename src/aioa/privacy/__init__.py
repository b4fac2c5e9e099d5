"""Privacy requests about one person: export everything stored about them, or pseudonymise them (docs/privacy.md)."""
