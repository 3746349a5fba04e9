# Copyright (c) mtlpartial contributors. All rights reserved.
