package cardmaskprocessor

import (
	"context"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

type masker struct{ replacement string }

func (m masker) traces(_ context.Context, td ptrace.Traces) (ptrace.Traces, error) {
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, span := range ss.Spans().All() {
				m.attributes(span.Attributes())
				if masked, changed := Mask(span.Status().Message(), m.replacement); changed {
					span.Status().SetMessage(masked)
				}
				for _, event := range span.Events().All() {
					m.attributes(event.Attributes())
				}
			}
		}
	}
	return td, nil
}

func (m masker) logs(_ context.Context, ld plog.Logs) (plog.Logs, error) {
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, record := range sl.LogRecords().All() {
				m.value(record.Body())
				m.attributes(record.Attributes())
			}
		}
	}
	return ld, nil
}

func (m masker) attributes(attributes pcommon.Map) {
	for _, v := range attributes.All() {
		m.value(v)
	}
}

// value masks a string where it stands, and the strings inside lists and maps.
func (m masker) value(v pcommon.Value) {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		if masked, changed := Mask(v.Str(), m.replacement); changed {
			v.SetStr(masked)
		}
	case pcommon.ValueTypeSlice:
		for _, item := range v.Slice().All() {
			m.value(item)
		}
	case pcommon.ValueTypeMap:
		m.attributes(v.Map())
	}
}
