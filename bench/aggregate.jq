# The benchmark's jq baseline: the same traversal aggregates as `improve observe`.
# usage: cat FILES | jq -n -c -f aggregate.jq
# Explorations are keyed by exploration_id (unique across the generated files).
reduce inputs as $l ({e: {}, d: {}, a: {}};
  if ($l | type) != "object" then .
  elif $l.event != null then
    ($l.exploration_id // $l.branching_event.exploration_id // $l.merge_event.exploration_id // "") as $id
    | if $l.event == "EXPLORATION_END" then
        (.e[$id] // {s: 0}) as $x
        | .d[$id] = ($x + {
            ended: true,
            reason: $l.termination.reason,
            fsat: ($l.termination.final_satisfaction // $l.satisfaction),
            st: ($l.termination.steps_taken // $l.total_steps),
            ef: ($l.found_narratives | if . == null then null else length end)})
        | del(.e[$id])
      else .e[$id] = (.e[$id] // {s: 0}) end
  elif $l.header != null then
    ($l.header.exploration_id // $l.exploration_id // "") as $id
    | .e[$id].s += 1
    | (if $l.state.satisfaction != null then .e[$id].sat = $l.state.satisfaction else . end)
    | ($l.findings.found_count // ($l.findings.found_narratives | if . == null then null else length end)) as $f
    | (if $f != null then .e[$id].found = $f else . end)
    | reduce ($l.anomalies // [])[] as $a (.; .a[$a.type // "UNKNOWN"] += 1)
  else . end)
| ([.d[]] + [.e[] | select(.s > 0)]) as $x
| def mean: if length > 0 then add / length else null end;
  {
    explorations: ($x | length),
    termination: (reduce ($x[] | select(.reason != null) | .reason) as $r ({}; .[$r] += 1)),
    satisfaction: ([$x[] | (.fsat // .sat) | select(. != null)] | mean),
    efficiency: ([$x[] | if .s > 0 then ((.found // 0) / .s)
                  elif (.ef != null and (.st // 0) > 0) then .ef / .st
                  else empty end] | mean),
    anomalies: .a
  }
