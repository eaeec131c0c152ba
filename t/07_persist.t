# The last good corte survives restarts: after a graceful restart and after a
# full stop and start the same corte is served at once, before any new
# package.  PrepKeep 2: after 4 uploads only 2 cortes remain in
# STORE/cortes, the served one among them, and STORE/current names it.
# Feed: respaldo.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use IO::Socket::INET ();
use Time::HiRes qw(time sleep);
use PrepTest;

my $feed = 'respaldo';
my $base = "/prep/$feed";
my $tmp  = tmp_dir();

my @cortes = map { sprintf '2024-06-02T22:%02d:00-06:00', $_ } 0, 5, 10, 15;
my @ids;
for my $i (0 .. $#cortes) {
    my $pkg = make_package(out => "$tmp/PREP_respaldo_$i.tar.gz", corte => $cortes[$i],
                           seed => 70 + $i, files => 300);
    my ($f) = upload_and_wait($pkg, $feed, timeout => 20);
    ok $f, "upload " . ($i + 1) . " of 4 published" or diag explain status_feed($feed);
    push @ids, $f ? $f->{corte}{id} : undef;
}
my $last_id  = $ids[-1] // 'none';
my $last_iso = $cortes[-1];

# PrepKeep 2.
my @kept = @{ wait_for(10, sub { my @c = store_cortes($feed); @c == 2 ? \@c : undef }) || [store_cortes($feed)] };
is scalar(@kept), 2, 'PrepKeep 2: two cortes remain in STORE/cortes' or diag "STORE/cortes: @kept";
ok((grep { $_ eq $last_id } @kept), 'the served corte is among them');
is store_current($feed), $last_id, 'STORE/current holds the served id';
is_deeply [sort @kept], [sort grep { defined } @ids[2, 3]], 'the two newest are kept';

# Other feeds' cortes, to check they come back too.
my %before = map { my $id = corte_id($_); defined $id ? ($_ => $id) : () } qw(qro subida carga);

sub first_answer {
    my ($timeout) = @_;
    return wait_for($timeout, sub {
        my $r = http(GET => "$base/json/main.json");
        return undef if $r->code == 500 && ($r->header('Client-Warning') // '') =~ /Internal response/;
        return $r;
    }, 0.05);
}

sub check_serving {
    my ($what) = @_;
    my $r = first_answer(30);
    ok $r, "$what: the server answers" or return;
    is $r->code, 200, "$what: the first answer is 200";
    is $r->header('X-PREP-Corte'), $last_iso, "$what: the same corte is served at once";
    is corte_id($feed), $last_id, "$what: status shows the same corte id";
    is status_feed($feed)->{state}, 'serving', "$what: state serving";
    for my $other (sort keys %before) {
        is corte_id($other), $before{$other}, "$what: feed $other keeps its corte too";
    }
}

# Graceful restart (SIGUSR1, what `apachectl graceful` sends).
{
    my $pid = server_pid();
    ok $pid && kill(0, $pid), 'the test server is running';
    kill 'USR1', $pid;
    sleep 0.5;
    check_serving('after a graceful restart');
    is server_pid(), $pid, 'the same parent process (graceful)';
}

# Full stop and start with the same configuration.
{
    my $pid = server_pid();
    kill 'TERM', $pid;
    my $gone = wait_for(30, sub { !kill(0, $pid) });
    ok $gone, 'the server stopped';
    my $port = Apache::Test::vars('port');
    ok wait_for(10, sub { !IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 1) }),
        'nothing listens any more';
    my $cmd = Apache::Test::config()->server->start_cmd;
    system("$cmd >/dev/null 2>&1");
    ok wait_for(30, sub { my $p = server_pid(); $p && $p != $pid && kill(0, $p) }), 'the server started again'
        or diag "start command: $cmd";
    check_serving('after a full stop and start');
}

# A new package after the restarts is still taken.
{
    my $pkg = make_package(out => "$tmp/PREP_respaldo_5.tar.gz", corte => '2024-06-02T22:20:00-06:00',
                           seed => 75, files => 300);
    my ($f) = upload_and_wait($pkg, $feed, timeout => 20);
    ok $f, 'a package after the restarts is published' or diag explain status_feed($feed);
    is http(GET => "$base/json/main.json")->header('X-PREP-Corte'), '2024-06-02T22:20:00-06:00', 'and served';
    my @c = @{ wait_for(10, sub { my @c = store_cortes($feed); @c == 2 ? \@c : undef }) || [store_cortes($feed)] };
    is scalar(@c), 2, 'still two cortes kept';
}

done_testing;
