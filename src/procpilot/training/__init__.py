"""Training jobs' pieces: examples from recorded turns, fine-tuning (GGUF in, GGUF out), evaluation."""
