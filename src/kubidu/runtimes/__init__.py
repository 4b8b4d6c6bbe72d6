"""Runtimes run replicas of deployments. ``base`` holds the contract every runtime implements."""
