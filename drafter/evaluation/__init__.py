"""The eval suite: cases → drafts → scores → reports (``drafter eval``).

``cases`` loads the dataset, ``runner`` drafts every case (offline or through a model, bounded
concurrency, cached), ``scoring`` checks each draft against the tone rules and the case's
expectations, ``judge`` optionally asks a model to grade it, ``report`` writes JSON, Markdown or
HTML and compares against a baseline, ``checker_metrics`` measures the tone rules themselves on
labelled replies.
"""
