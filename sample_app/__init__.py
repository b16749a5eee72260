"""The sample app: data in a bucket, a training job, and a model serving its artifacts."""
