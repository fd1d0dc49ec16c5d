# Every external library comes from a Debian 12 package listed in deps/debian-packages.txt;
# docs/ARCHITECTURE.md says why each one was chosen.
find_package(nlohmann_json 3.11 REQUIRED)  # nlohmann-json3-dev
find_package(CLI11 2.1 REQUIRED)           # libcli11-dev
find_package(OpenSSL 3.0 REQUIRED)         # libssl-dev
find_package(CURL 7.85 REQUIRED)           # libcurl4-openssl-dev (CURLOPT_PROTOCOLS_STR needs 7.85)
find_package(tomlplusplus 3.3 REQUIRED)    # libtomlplusplus-dev
if(BULKHEAD_TESTS AND NOT BULKHEAD_FUZZ)
  find_package(GTest 1.12 REQUIRED)        # libgtest-dev, libgmock-dev
endif()
