"""Live data: follow log folders as they grow (`aioa watch`) and rebuild from kept events (`aioa replay`)."""
