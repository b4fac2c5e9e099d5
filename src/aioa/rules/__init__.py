"""Rules that act: a trigger, conditions in CEL and actions, stored per tenant; incidents and notifications."""
