-- SPDX-License-Identifier: Apache-2.0
-- wrk script for bench/fhir_bench_ingest.sh: POSTs small FHIR message Bundles (synthetic patient,
-- example.invalid) over keep-alive connections, each with a new Bundle.id (run, thread, counter)
-- so every request is a real commit, not a resend. Usage: wrk ... -s fhir_bench_ingest.lua URL -- RUN
local counter = 0
local run = "run"
local created = 0

-- Runs in wrk's main Lua state; thread:set() makes `thread_number` a global of that thread's state.
function setup(thread)
  created = created + 1
  thread:set("thread_number", created)
end

local headers = {["Content-Type"] = "application/fhir+json"}

-- wrk.format() takes these headers instead of wrk.headers: carry over -H (Authorization).
local function with_command_line_headers()
  for name, value in pairs(wrk.headers) do
    headers[name] = value
  end
  headers["Content-Type"] = "application/fhir+json"
end

function init(args)
  run = args[1] or run
  with_command_line_headers()
end

local template = [[{"resourceType":"Bundle","id":"BENCH-%s-%d-%d","type":"message",]] ..
  [["timestamp":"2026-11-25T14:15:00Z","entry":[]] ..
  [[{"fullUrl":"urn:uuid:b0000000-0000-4000-8000-000000000001","resource":{]] ..
  [["resourceType":"MessageHeader","id":"b0000000-0000-4000-8000-000000000001",]] ..
  [["eventCoding":{"system":"http://terminology.hl7.org/CodeSystem/v2-0003","code":"A03"},]] ..
  [["source":{"name":"BENCH_EHR","endpoint":"https://ehr.example.invalid/fhir"},]] ..
  [["focus":[{"reference":"Encounter/enc-1"}]}},]] ..
  [[{"fullUrl":"https://ehr.example.invalid/fhir/Patient/pat-1","resource":{]] ..
  [["resourceType":"Patient","id":"pat-1","identifier":[{"system":"urn:oid:2.16.840.1.113883.3.0",]] ..
  [["value":"SYN000505"}],"name":[{"family":"Benchpatient","given":["Alexa"]}],]] ..
  [["birthDate":"1980-02-14","telecom":[{"system":"email","value":"alexa@example.invalid"}]}},]] ..
  [[{"fullUrl":"https://ehr.example.invalid/fhir/Encounter/enc-1","resource":{]] ..
  [["resourceType":"Encounter","id":"enc-1","status":"finished","class":{]] ..
  [["system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"IMP"},]] ..
  [["subject":{"reference":"Patient/pat-1"},"period":{"start":"2026-11-20T08:00:00Z",]] ..
  [["end":"2026-11-25T14:00:00Z"}}}]}]]

function request()
  counter = counter + 1
  return wrk.format("POST", nil, headers, string.format(template, run, thread_number, counter))
end
