#pragma once
// Everything sked offers, in one include.

#include <sked/args.hpp>
#include <sked/errors.hpp>
#include <sked/events.hpp>
#include <sked/execution.hpp>
#include <sked/executor.hpp>
#include <sked/executors/process_pool.hpp>
#include <sked/executors/thread_pool.hpp>
#include <sked/job.hpp>
#include <sked/job_store.hpp>
#include <sked/names.hpp>
#include <sked/run_lease.hpp>
#include <sked/scheduler.hpp>
#include <sked/serialization.hpp>
#include <sked/stores/memory.hpp>
#include <sked/stores/sqlite.hpp>
#include <sked/tasks.hpp>
#include <sked/tasks/shell.hpp>
#include <sked/time.hpp>
#include <sked/trigger.hpp>
#include <sked/triggers/combining.hpp>
#include <sked/triggers/cron.hpp>
#include <sked/triggers/date.hpp>
#include <sked/triggers/interval.hpp>
