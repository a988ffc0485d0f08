"""What the compose layer and the runtime share: pure helpers of no layer's own (the
docker world keeps the same things as small libraries of their own: go-units,
distribution/reference, patternmatcher) and the error type the CLI reports in one line."""
