"""Policy knowledge: the corpus of policy documents, their tables, search and answers."""
