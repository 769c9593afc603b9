"""The synthetic example study, as the template makes it (never copied into a study).

``generate.example_files(seed)`` makes every file of the example from the data files
under ``data/`` (the published Table 3, the invented numbers, the words);
``compare.table3_comparison`` sets the twin's scores beside the published table.
``nox -s fragments`` writes the files under ``{{cookiecutter.project_slug}}/.bake/example/``
(``tests/regenerate.py``), and ``tests/test_example.py`` fails when that copy drifts.
"""
