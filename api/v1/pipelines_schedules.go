package v1

import "time"

// Schedule paths.
const (
	PathSchedules      = PathTenant + "/schedules"
	PathSchedule       = PathSchedules + "/{schedule}"
	PathSchedulePause  = PathSchedule + "/pause"
	PathScheduleResume = PathSchedule + "/resume"
)

// ScheduleCreate makes a schedule of a pipeline.
type ScheduleCreate struct {
	Name       string            `json:"name" maxLength:"52" doc:"DNS-1123 label, unique in the tenant"`
	Pipeline   string            `json:"pipeline" maxLength:"52"`
	Version    int64             `json:"version,omitempty" minimum:"0" doc:"the version to run (default: the latest at each tick)"`
	Cron       string            `json:"cron" maxLength:"256" doc:"five fields (minute hour day-of-month month day-of-week) or @hourly, @daily, @every 10m" example:"0 3 * * *"`
	Timezone   string            `json:"timezone,omitempty" maxLength:"64" doc:"an IANA time zone (default UTC)" example:"Europe/Paris"`
	Policy     string            `json:"policy,omitempty" enum:"Allow,Forbid,Replace" doc:"a tick while a run of the schedule is active: Allow starts another, Forbid skips, Replace cancels it first (default Forbid)"`
	Parameters map[string]string `json:"parameters,omitempty"`
}

// Schedule starts runs of a pipeline on a cron; a server that was down
// starts one run at its return, not one per missed tick.
type Schedule struct {
	Tenant     string            `json:"tenant"`
	Name       string            `json:"name"`
	Pipeline   string            `json:"pipeline"`
	Version    int64             `json:"version,omitempty"`
	Cron       string            `json:"cron"`
	Timezone   string            `json:"timezone"`
	Policy     string            `json:"policy"`
	Parameters map[string]string `json:"parameters,omitempty"`
	Paused     bool              `json:"paused"`
	NextAt     time.Time         `json:"nextAt"`
	LastAt     *time.Time        `json:"lastAt,omitempty"`
	LastRun    string            `json:"lastRun,omitempty"`
	CreatedBy  string            `json:"createdBy"`
	CreatedAt  time.Time         `json:"createdAt"`
}
