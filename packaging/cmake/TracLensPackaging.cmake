set(CPACK_PACKAGE_NAME traclens)
