# Monitoring the Prometheus way: /prep-status?format=prometheus after two
# publishes, a same-corte and two refusals passes `promtool check metrics`
# without a word, has HELP and TYPE for every family, and says what
# happened: prep_build_info, prep_corte_info{feed,corte,sha256,package}
# (a package name with " and \ escaped), the corte's timestamp, age, files
# and bytes, prep_feed_state one series per state, prep_loads_total by
# result, prep_refusals_total by reason, the last load's duration, the last
# poll, the traffic.  An intake killed is one prep_intake_restarts_total.
# The loads and refusals come from STORE/counters.json: after a full stop
# and start they are where they were (the traffic, per process, starts
# again), and a new package after it counts on from there.  mod_status's
# server-status has a line per feed, in its HTML table and in ?auto.
# Feed: metricas (and vacia, waiting, for the lines of a feed without a
# corte).
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use IO::Socket::INET ();
use JSON::PP ();
use Time::HiRes qw(time sleep);
use PrepTest;

my $feed = 'metricas';
my $tmp  = tmp_dir();
my $PROMTOOL = '/usr/bin/promtool';

# ------------------------------------------------------------ helpers

sub scrape {
    my $res = http(GET => '/prep-status?format=prometheus');
    return $res;
}

# The exposition text parsed: { families => {name => {help, type}},
# samples => [[name, {labels}, value]] }; dies on a line it cannot read.
sub parse_exposition {
    my $text = shift;
    my (%families, @samples);
    for my $line (split /\n/, $text) {
        if ($line =~ /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/) {
            $families{$2}{lc $1} = $3;
            next;
        }
        next if $line =~ /^#/;
        $line =~ /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/ or die "not a sample: $line\n";
        my ($name, $labels, $value) = ($1, $2 // '', $3);
        my %l;
        while (length $labels) {
            $labels =~ s/^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\[\\"n])*)",?// or die "bad labels in: $line\n";
            my ($k, $v) = ($1, $2);
            $v =~ s/\\(["\\n])/$1 eq 'n' ? "\n" : $1/ge;
            $l{$k} = $v;
        }
        push @samples, [$name, \%l, $value];
    }
    return { families => \%families, samples => \@samples };
}

# The value of the one sample of `name` whose labels include %want, or
# undef (a list of the values in list context).
sub value_of {
    my ($m, $name, %want) = @_;
    my @v;
    SAMPLE: for my $s (@{ $m->{samples} }) {
        next unless $s->[0] eq $name;
        for my $k (keys %want) {
            next SAMPLE unless defined $s->[1]{$k} && $s->[1]{$k} eq $want{$k};
        }
        push @v, $s->[2];
    }
    return wantarray ? @v : (@v == 1 ? $v[0] : undef);
}

sub samples_of {
    my ($m, $name, %want) = @_;
    return grep {
        my $s = $_;
        $s->[0] eq $name && !grep { ($s->[1]{$_} // "\0") ne $want{$_} } keys %want
    } @{ $m->{samples} };
}

# promtool check metrics on the text: its output (empty when silent) and
# exit status.
sub promtool_check {
    my $text = shift;
    my $file = "$tmp/metrics.txt";
    spit($file, $text);
    my $out = `$PROMTOOL check metrics < '$file' 2>&1`;
    return ($out, $? >> 8);
}

sub check_promtool {
    my ($what, $text) = @_;
    my ($out, $rc) = promtool_check($text);
    is $rc, 0, "$what: promtool check metrics exits 0";
    is $out, '', "$what: promtool check metrics says nothing" or diag $out;
}

# Every sample's family has HELP and TYPE; counters end in _total and only
# they do; every family's samples are together.
sub check_families {
    my ($what, $m, $text) = @_;
    my %seen;
    my @missing = grep { !$m->{families}{$_}{help} || !$m->{families}{$_}{type} }
                  do { my %u; grep { !$u{$_}++ } map { $_->[0] } @{ $m->{samples} } };
    is_deeply \@missing, [], "$what: HELP and TYPE for every metric";
    my @bad = grep {
        my $t = $m->{families}{$_}{type} // '';
        ($t eq 'counter') != (/_total$/ ? 1 : 0)
    } keys %{ $m->{families} };
    is_deeply \@bad, [], "$what: counters, and only counters, end in _total";
    my ($last, @split) = ('');
    for my $s (@{ $m->{samples} }) {
        push @split, $s->[0] if $s->[0] ne $last && $seen{ $s->[0] }++;
        $last = $s->[0];
    }
    is_deeply \@split, [], "$what: each family's samples together";
}

sub load_counts {
    my $m = shift;
    return { map { ($_ => value_of($m, 'prep_loads_total', feed => $feed, result => $_)) }
             qw(published retained republished same-corte refused crashed) };
}

sub wait_counters {
    my ($timeout, $cb) = @_;
    return wait_for($timeout, sub {
        my $f = status_feed($feed) or return undef;
        my $c = $f->{counters} or return undef;
        return $cb->($c) ? $f : undef;
    });
}

# The intake: the server's child that leads its own process group.
sub intake_pid {
    my $parent = server_pid() or return undef;
    for (`ps -o pid=,pgid= --ppid $parent`) {
        my ($pid, $pgid) = /(\d+)\s+(\d+)/ or next;
        return $pid if $pid == $pgid;
    }
    return undef;
}

# ------------------------------------------------------------ the night

my $p1 = make_package(out => "$tmp/PREP_metricas_1.tar.gz", corte => '2024-06-02T20:00:00-06:00',
                      seed => 221, files => 40);
my $p2 = make_package(out => "$tmp/PREP_metricas_2.tar.gz", corte => '2024-06-02T20:30:00-06:00',
                      seed => 222, files => 60);
my $p0 = make_package(out => "$tmp/PREP_metricas_0.tar.gz", corte => '2024-06-02T19:00:00-06:00',
                      seed => 220, files => 30);
# a name with " and \ : its label value must be escaped
my $odd = 'PREP_metricas "comillas" \\barra.tar.gz';

my ($f1) = upload_and_wait($p1, $feed, timeout => 30);
ok $f1, 'first package published' or give_up('metricas publishes nothing');
my ($f2) = upload_and_wait($p2, $feed, timeout => 30, name => $odd);
ok $f2, 'second package (a name with " and \\) published' or give_up('the second package is not published');
my $corte = $f2->{corte};

# the same package again: same-corte; not an archive and an older corte:
# two refusals
upload_renamed($p2, $feed, 'PREP_metricas_otra_vez.tar.gz');
ok wait_counters(20, sub { ($_[0]{loads}{'same-corte'} // 0) >= 1 }), 'the same package again: same-corte'
    or diag explain status_feed($feed);
my $bad = 'PREP_metricas_basura.tar.gz';
spit("$tmp/$bad", join '', map { chr(($_ * 7919) % 256) } 1 .. 4000);
upload_renamed("$tmp/$bad", $feed);
ok wait_rejected($feed, $bad, 20), 'bytes that are no archive: refused';
upload_renamed($p0, $feed);
ok wait_rejected($feed, basename_of($p0), 20), 'an older corte: refused';
sub basename_of { (my $b = shift) =~ s{.*/}{}; $b }
ok wait_counters(10, sub { ($_[0]{loads}{refused} // 0) >= 2 }), 'status counters: two refused';

# the JSON document's counters (a field added beside the others)
{
    my $c = (status_feed($feed) || {})->{counters} || {};
    is_deeply $c->{loads},
        { published => 2, retained => 0, republished => 0, 'same-corte' => 1, refused => 2, crashed => 0 },
        'JSON counters.loads by result';
    is_deeply $c->{refusals}, { 'not-an-archive' => 1, 'older-corte' => 1 }, 'JSON counters.refusals by reason';
    is $c->{intake_restarts}, 0, 'JSON counters.intake_restarts 0';
    like $c->{last_load_ms} // '', qr/^\d+$/, 'JSON counters.last_load_ms';
}

# some traffic: 3 answers, one 304, one 404
my $main = http(GET => "/prep/$feed/json/main.json");
http(GET => "/prep/$feed/json/main.json", 'If-None-Match' => $main->header('ETag') // '"x"');
http(GET => "/prep/$feed/no-existe.html");

# ------------------------------------------------------------ the exposition

my $res = scrape();
is $res->code, 200, '?format=prometheus → 200';
is $res->header('Content-Type'), 'text/plain; version=0.0.4; charset=utf-8', 'Content-Type of the text format 0.0.4';
like $res->header('Cache-Control') // '', qr/no-store/, 'Cache-Control: no-store';
my $text = $res->content;
check_promtool('after the night', $text);
my $m = eval { parse_exposition($text) };
ok $m, 'every line is a comment or a sample' or diag $@;
$m ||= { families => {}, samples => [] };
check_families('after the night', $m, $text);

my $doc = status() || {};
is value_of($m, 'prep_build_info', version => $doc->{version} // '-'), 1, 'prep_build_info{version} 1, the JSON version';

# the corte served
my @info = samples_of($m, 'prep_corte_info', feed => $feed);
is scalar(@info), 1, 'one prep_corte_info for the feed';
my $il = @info ? $info[0][1] : {};
is $il->{corte}, $corte->{id}, 'prep_corte_info corte = the id served';
is $il->{sha256}, sha256_file($p2), 'prep_corte_info sha256 = the package\'s';
is $il->{package}, $corte->{package}, 'prep_corte_info package = the name shown (with " and \\)';
is $info[0][2], 1, 'prep_corte_info value 1' if @info;
(my $escaped = $corte->{package} // '') =~ s/(["\\])/\\$1/g;
like $text, qr/package="\Q$escaped\E"/, 'the label value is escaped (\\" and \\\\)';
is value_of($m, 'prep_corte_timestamp_seconds', feed => $feed) + 0, iso_to_epoch('2024-06-02T20:30:00-06:00'),
    'prep_corte_timestamp_seconds = the corte time';
my $age = value_of($m, 'prep_corte_age_seconds', feed => $feed) // -1;
cmp_ok abs($age - (time - iso_to_epoch('2024-06-02T20:30:00-06:00'))), '<', 30, 'prep_corte_age_seconds = now - corte time';
is value_of($m, 'prep_corte_files', feed => $feed), $corte->{files}, 'prep_corte_files = corte.files';
is value_of($m, 'prep_corte_bytes', feed => $feed), $corte->{bytes}, 'prep_corte_bytes = corte.bytes';
cmp_ok abs((value_of($m, 'prep_corte_loaded_timestamp_seconds', feed => $feed) // 0) - iso_to_epoch($corte->{loaded_at})),
    '<', 1.5, 'prep_corte_loaded_timestamp_seconds = corte.loaded_at';

# the state: one series per state, the one it is in 1
my %state = map { $_->[1]{state} => $_->[2] } samples_of($m, 'prep_feed_state', feed => $feed);
is_deeply \%state, { waiting => 0, embargoed => 0, serving => 1, stale => 0, pinned => 0, closed => 0 },
    'prep_feed_state: serving 1, every other state 0';
my %vacia = map { $_->[1]{state} => $_->[2] } samples_of($m, 'prep_feed_state', feed => 'vacia');
is $vacia{waiting}, 1, 'vacia: prep_feed_state{state="waiting"} 1';
is scalar(samples_of($m, 'prep_corte_info', feed => 'vacia')), 0, 'vacia: no prep_corte_info';
is value_of($m, 'prep_feed_drill', feed => $feed), 0, 'prep_feed_drill 0';
is value_of($m, 'prep_feed_pinned', feed => $feed), 0, 'prep_feed_pinned 0';

# loads and refusals
my $loads = load_counts($m);
is_deeply $loads, { published => 2, retained => 0, republished => 0, 'same-corte' => 1, refused => 2, crashed => 0 },
    'prep_loads_total by result: 2 published, 1 same-corte, 2 refused, the others 0';
my %reasons = map { $_->[1]{reason} => $_->[2] } samples_of($m, 'prep_refusals_total', feed => $feed);
is_deeply \%reasons, { 'not-an-archive' => 1, 'older-corte' => 1 }, 'prep_refusals_total by reason';
my $dur = value_of($m, 'prep_load_duration_seconds', feed => $feed);
ok defined $dur && $dur >= 0 && $dur < 60, 'prep_load_duration_seconds: the last load, in seconds'
    or diag "duration: " . ($dur // 'none');
my $poll = value_of($m, 'prep_last_poll_timestamp_seconds', feed => $feed) // 0;
cmp_ok abs(time - $poll), '<', 5, 'prep_last_poll_timestamp_seconds is now (twice a second)';
is value_of($m, 'prep_intake_restarts_total', feed => $feed), 0, 'prep_intake_restarts_total 0';

# traffic
my $tr = (status_feed($feed) || {})->{traffic} || {};
cmp_ok value_of($m, 'prep_requests_total', feed => $feed) // 0, '>=', 3, 'prep_requests_total counts the requests';
cmp_ok value_of($m, 'prep_response_bytes_total', feed => $feed) // 0, '>=', length($main->content),
    'prep_response_bytes_total counts the bodies';
cmp_ok value_of($m, 'prep_not_modified_total', feed => $feed) // 0, '>=', 1, 'prep_not_modified_total counts the 304';
cmp_ok value_of($m, 'prep_not_found_total', feed => $feed) // 0, '>=', 1, 'prep_not_found_total counts the 404';

# ------------------------------------------------------------ server-status

{
    my $auto = http(GET => '/server-status?auto');
    is $auto->code, 200, 'server-status?auto → 200';
    my $a = $auto->content;
    like $a, qr/^PrepFeed_\Q$feed\E: state=serving corte=\Q$corte->{id}\E age=\d+ requests=\d+$/m,
        '?auto: PrepFeed_metricas: state=serving corte=ID age=N requests=N';
    like $a, qr/^PrepFeed_vacia: state=waiting corte=- age=- requests=\d+$/m, '?auto: a feed without a corte';
    like $a, qr/^PrepFeeds: \d+$/m, '?auto: PrepFeeds';
    unlike $a, qr/<[a-z]/i, '?auto: no HTML';
    my $html = http(GET => '/server-status')->content;
    like $html, qr{<tr><td>\Q$feed\E</td><td>serving</td><td>\Q$corte->{id}\E</td><td>\d+</td><td>\d+</td></tr>},
        'HTML: a row for metricas (name, state, corte, age, requests)';
    like $html, qr{<tr><td>vacia</td><td>waiting</td><td>-</td><td>-</td><td>\d+</td></tr>}, 'HTML: a row for vacia';
    like $html, qr{<th>Estado</th>}, 'HTML: the table\'s headings';
    my $notable = http(GET => '/server-status?notable')->content;
    like $notable, qr{<li><b>\Q$feed\E</b>: serving, corte \Q$corte->{id}\E}, 'HTML ?notable: a list item';
}

# ------------------------------------------------------------ the intake killed

{
    my $intake = intake_pid();
    ok $intake, 'the intake runs' or diag `ps -ef`;
    if ($intake) {
        kill 'KILL', $intake;
        my $f = wait_counters(20, sub { ($_[0]{intake_restarts} // 0) >= 1 });
        ok $f, 'an intake killed: started again and counted';
        my $mm = eval { parse_exposition(scrape()->content) } || { samples => [] };
        is value_of($mm, 'prep_intake_restarts_total', feed => $feed), 1, 'prep_intake_restarts_total 1';
        ok wait_for(10, sub { my $p = intake_pid(); $p && $p != $intake }), 'a new intake';
    }
}

# ------------------------------------------------------------ a full stop and start

my $before = eval { parse_exposition(scrape()->content) } || { samples => [] };
{
    my $pid = server_pid();
    kill 'TERM', $pid;
    ok wait_for(30, sub { !kill(0, $pid) }), 'the server stopped';
    my $port = Apache::Test::vars('port');
    ok wait_for(10, sub { !IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 1) }),
        'nothing listens any more';
    my $cmd = Apache::Test::config()->server->start_cmd;
    system("$cmd >/dev/null 2>&1");
    ok wait_for(30, sub { my $p = server_pid(); $p && $p != $pid && kill(0, $p) }), 'the server started again';
    ok wait_for(30, sub { http(GET => '/prep-status')->code == 200 }, 0.1), 'and answers';
}
{
    my $res = scrape();
    check_promtool('after the restart', $res->content);
    my $m2 = eval { parse_exposition($res->content) } || { samples => [] };
    is_deeply load_counts($m2), load_counts($before), 'prep_loads_total: where they were before the restart';
    cmp_ok load_counts($m2)->{published}, '==', 2, 'still 2 published, not 0';
    my %r2 = map { $_->[1]{reason} => $_->[2] } samples_of($m2, 'prep_refusals_total', feed => $feed);
    is_deeply \%r2, { 'not-an-archive' => 1, 'older-corte' => 1 }, 'prep_refusals_total: where they were';
    is value_of($m2, 'prep_intake_restarts_total', feed => $feed), 1,
        'prep_intake_restarts_total: 1 (a server start is no intake restart)';
    is value_of($m2, 'prep_load_duration_seconds', feed => $feed), value_of($before, 'prep_load_duration_seconds', feed => $feed),
        'prep_load_duration_seconds: the same last load';
    is((samples_of($m2, 'prep_corte_info', feed => $feed))[0][1]{corte}, $corte->{id}, 'the same corte served');
    cmp_ok value_of($m2, 'prep_requests_total', feed => $feed), '<',
        value_of($before, 'prep_requests_total', feed => $feed) // 0,
        'prep_requests_total starts again (per process, a counter reset)';
}

# a new package after the restart counts on from there
{
    my $p3 = make_package(out => "$tmp/PREP_metricas_3.tar.gz", corte => '2024-06-02T21:00:00-06:00',
                          seed => 223, files => 40);
    my ($f3) = upload_and_wait($p3, $feed, timeout => 30);
    ok $f3, 'a package after the restart is published';
    my $m3 = eval { parse_exposition(scrape()->content) } || { samples => [] };
    is value_of($m3, 'prep_loads_total', feed => $feed, result => 'published'), 3, 'prep_loads_total{result="published"} 3';
    is value_of($m3, 'prep_corte_info', feed => $feed, corte => $f3 ? $f3->{corte}{id} : '-'), 1,
        'prep_corte_info names the new corte';
}

done_testing;
