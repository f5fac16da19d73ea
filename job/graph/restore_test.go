package graph

import (
	"testing"
	"time"

	"github.com/microsoft/kiota-abstractions-go/serialization"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
)

// TestEligibilitySchedule reads schedules back from what raw records of a
// roleEligibilitySchedule, as the run's journal keeps it.
func TestEligibilitySchedule(t *testing.T) {
	start := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	end := start.Add(90 * 24 * time.Hour)
	schedule := func(kind *models.ExpirationPatternType, end *time.Time, d *serialization.ISODuration) *models.UnifiedRoleEligibilitySchedule {
		e := models.NewUnifiedRoleEligibilitySchedule()
		info := models.NewRequestSchedule()
		info.SetStartDateTime(&start)
		if kind != nil {
			exp := models.NewExpirationPattern()
			exp.SetTypeEscaped(kind)
			exp.SetEndDateTime(end)
			exp.SetDuration(d)
			info.SetExpiration(exp)
		}
		e.SetScheduleInfo(info)
		return e
	}
	after := models.AFTERDATETIME_EXPIRATIONPATTERNTYPE
	duration := models.AFTERDURATION_EXPIRATIONPATTERNTYPE
	never := models.NOEXPIRATION_EXPIRATIONPATTERNTYPE
	tests := []struct {
		name    string
		e       *models.UnifiedRoleEligibilitySchedule
		wantEnd time.Time
		wantErr bool
	}{
		{"afterDateTime", schedule(&after, &end, nil), end, false},
		{"afterDuration", schedule(&duration, nil, serialization.FromDuration(8*time.Hour)), start.Add(8 * time.Hour), false},
		{"noExpiration", schedule(&never, nil, nil), time.Time{}, false},
		{"no expiration at all", schedule(nil, nil, nil), time.Time{}, false},
		{"afterDateTime without a date", schedule(&after, nil, nil), time.Time{}, true},
		{"no schedule", models.NewUnifiedRoleEligibilitySchedule(), time.Time{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := eligibilitySchedule(raw(tt.e))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("schedule %+v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.Start.Equal(start) || !got.End.Equal(tt.wantEnd) {
				t.Errorf("schedule %+v, want %v to %v", got, start, tt.wantEnd)
			}
		})
	}
	if _, err := eligibilitySchedule(nil); err == nil {
		t.Error("no raw record: no error")
	}
}
