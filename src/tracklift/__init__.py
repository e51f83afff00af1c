"""tracklift: lift 2D segmentation into consistent, open-vocabulary 3D object instances.

Importing the package is cheap: no model is loaded and no kernel is compiled until used.
"""

__version__ = "0.1.0"
