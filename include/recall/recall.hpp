// recall: persistent memoization for C++20. Include this one header for the whole public API.
#pragma once

#include <recall/errors.hpp>
#include <recall/identity/body_signatures.hpp>
#include <recall/identity/function_identity.hpp>
#include <recall/key/hashable.hpp>
#include <recall/key/key.hpp>
#include <recall/log.hpp>
#include <recall/mapped.hpp>
#include <recall/memoize.hpp>
#include <recall/policy/environment.hpp>
#include <recall/policy/globals.hpp>
#include <recall/policy/mode.hpp>
#include <recall/policy/mutation_policy.hpp>
#include <recall/policy/options.hpp>
#include <recall/policy/scope.hpp>
#include <recall/policy/version.hpp>
#include <recall/stores/compression.hpp>
#include <recall/stores/directory_store.hpp>
#include <recall/stores/durability.hpp>
#include <recall/stores/layered_store.hpp>
#include <recall/stores/memory_store.hpp>
#include <recall/stores/pack_store.hpp>
#include <recall/stores/store.hpp>
#include <recall/stores/store_layout.hpp>
#include <recall/stores/verification.hpp>
#include <recall/sweep.hpp>
