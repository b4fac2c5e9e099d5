-- Row rules across columns: errors never exceed calls, sessions end after they start and hold a call, router
-- confidences are probabilities. Returns one row per violation, naming the rule.
select 'agg_usage_daily: error_calls > calls' as rule, usage_key as row_key
from {{ ref('agg_usage_daily') }}
where error_calls > calls
union all
select 'agg_usage_hourly: error_calls > calls', usage_key
from {{ ref('agg_usage_hourly') }}
where error_calls > calls
union all
select 'fct_sessions: ended_at < started_at or no call', session_id
from {{ ref('fct_sessions') }}
where ended_at < started_at or calls < 1
union all
select 'fct_handoffs: router_confidence outside [0, 1]', handoff_id
from {{ ref('fct_handoffs') }}
where router_confidence < 0 or router_confidence > 1
