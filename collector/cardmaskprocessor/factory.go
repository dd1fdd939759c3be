// Package cardmaskprocessor masks payment card numbers in spans and log records: every
// string attribute (inside lists and maps too), span event attributes, span status
// messages and log bodies. Only numbers that pass the Luhn check are masked, which no
// regular expression of reasonable size can decide, and so no OTTL statement can.
package cardmaskprocessor

import (
	"context"
	"errors"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"
)

var componentType = component.MustNewType("cardmask")

// Config is the processor's configuration.
type Config struct {
	// Replacement stands where a card number was.
	Replacement string `mapstructure:"replacement"`
}

// Validate refuses an empty replacement, which would make a masked number invisible.
func (c *Config) Validate() error {
	if c.Replacement == "" {
		return errors.New("replacement must not be empty")
	}
	return nil
}

// NewFactory creates the factory of the cardmask processor.
func NewFactory() processor.Factory {
	return processor.NewFactory(
		componentType,
		func() component.Config { return &Config{Replacement: "<card-number>"} },
		processor.WithTraces(createTraces, component.StabilityLevelBeta),
		processor.WithLogs(createLogs, component.StabilityLevelBeta),
	)
}

var mutates = processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: true})

func createTraces(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	m := masker{replacement: cfg.(*Config).Replacement}
	return processorhelper.NewTraces(ctx, set, cfg, next, m.traces, mutates)
}

func createLogs(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	m := masker{replacement: cfg.(*Config).Replacement}
	return processorhelper.NewLogs(ctx, set, cfg, next, m.logs, mutates)
}
