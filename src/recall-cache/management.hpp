// recall-cache's view of recall's management layer: the headers for every store this build of recall-cache can work on.
#pragma once

#include <recall/management/archive.hpp>
#include <recall/management/cache_inspection.hpp>
#include <recall/management/pack_management.hpp>
#include <recall/management/prune.hpp>
#if RECALL_CACHE_WITH_REDIS
#include <recall/management/redis_management.hpp>
#endif
#if RECALL_CACHE_WITH_S3
#include <recall/management/s3_cache.hpp>
#endif
