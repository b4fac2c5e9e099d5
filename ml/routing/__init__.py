"""The routing engine: will the cheap model succeed on this task, or is the strong one needed?"""
