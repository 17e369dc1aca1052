"""Folds the job event stream into a disposable SQL view."""
