// Logs streams a replica's log and follows it while the replica runs.
import { fill } from '../../api/client';
import { LogStream } from '../../components/logstream';

export function Logs(props: { tenant: string; job: string; replica: number; follow: boolean }) {
  const url = fill('/api/v1/tenants/{tenant}/jobs/{name}/logs', { tenant: props.tenant, name: props.job }, { replica: props.replica, follow: props.follow });
  return <LogStream url={url} label={`Log of replica ${props.replica}`} follow={props.follow} />;
}
