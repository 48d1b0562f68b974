"""One task from start to finish: the loop, the replies, the transcript, conversations, prompts."""
