# Copyright (c) mtlpartial contributors. All rights reserved.
import os.path as osp
import re

from setuptools import find_packages, setup


def get_version() -> str:
    with open(osp.join('mtlpartial', 'version.py'), encoding='utf-8') as f:
        exec(compile(f.read(), 'version.py', 'exec'))
    return locals()['__version__']


def parse_requirements(fname: str) -> list:
    """Read requirement lines, following ``-r other.txt`` includes."""
    out = []
    with open(fname, encoding='utf-8') as f:
        for line in f:
            line = line.split('#')[0].strip()
            if not line:
                continue
            if line.startswith('-r '):
                out += parse_requirements(
                    osp.join(osp.dirname(fname), line[3:].strip()))
            elif not re.match(r'^(-|--)', line):
                out.append(line)
    return out


if __name__ == '__main__':
    setup(
        name='mtlpartial',
        version=get_version(),
        description='Multi-task dense prediction from partially labelled '
        'data, built on OpenMMLab',
        long_description=open('README.md', encoding='utf-8').read(),
        long_description_content_type='text/markdown',
        keywords='multi-task learning, partial labels, dense prediction',
        packages=find_packages(exclude=('configs', 'tools', 'tests', 'docs',
                                        'projects')),
        include_package_data=True,
        python_requires='>=3.9',
        license='MIT',
        install_requires=parse_requirements('requirements/runtime.txt'),
        extras_require={
            'tests': parse_requirements('requirements/tests.txt'),
            'mminstall': parse_requirements('requirements/mminstall.txt'),
        },
        zip_safe=False)
