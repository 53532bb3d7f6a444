"""Data collection: turns recorded, ratings, review queues and reviews, datasets and their exports."""
