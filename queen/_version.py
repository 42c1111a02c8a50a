"""Release version of queen-turbo, and the reference client API level it mirrors."""

__all__ = ["__reference_version__", "__version__"]

__version__ = "0.1.0"
__reference_version__ = "0.15.0"
