package server

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// jobsPage is the admin's view of the background jobs that failed.
type jobsPage struct {
	Jobs []jobRow
}

type jobRow struct {
	*rivertype.JobRow
	LastError string
}

// adminJobsUI lists the newest failed background jobs (retryable and
// discarded), as tenantctl jobs list does: /admin/jobs/.
func (s *Server) adminJobsUI(w http.ResponseWriter, r *http.Request, sess *adminSession) error {
	if s.queue == nil {
		return errAdminUnavailable
	}
	res, err := s.queue.JobList(r.Context(), river.NewJobListParams().
		States(rivertype.JobStateRetryable, rivertype.JobStateDiscarded).
		OrderBy(river.JobListOrderByID, river.SortOrderDesc).First(adminPageSize))
	if err != nil {
		return err
	}
	p := jobsPage{}
	for _, j := range res.Jobs {
		row := jobRow{JobRow: j}
		if len(j.Errors) > 0 {
			row.LastError = j.Errors[len(j.Errors)-1].Error
		}
		p.Jobs = append(p.Jobs, row)
	}
	return s.render(w, http.StatusOK, sess, "jobs", "Failed jobs", p)
}

// adminJobRetryUI runs a failed job again now: POST /admin/jobs/{id}/retry/.
func (s *Server) adminJobRetryUI(w http.ResponseWriter, r *http.Request, sess *adminSession) error {
	if s.queue == nil {
		return errAdminUnavailable
	}
	id, err := pathUserID(r)
	if err != nil {
		return err
	}
	j, err := s.queue.JobRetry(r.Context(), id)
	if errors.Is(err, river.ErrNotFound) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	return s.redirect(w, r, sess, "/admin/jobs/", fmt.Sprintf("Job %d (%s) will run again now.", j.ID, j.Kind))
}
