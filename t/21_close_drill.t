# The end of the operation and drills, against a real httpd:
#
#   prepctl close: the state is "closed" within 2 s, ?check= answers 200,
#   the feed is never stale afterwards (PrepUpdateInterval 2s), a package
#   that still arrives is published and journaled, {{estado}} in a
#   PrepBannerTemplate says "Cierre del PREP" (cierre);
#   PrepPublishUntil a few seconds ahead (conf/plazofin-hasta.conf, then a
#   graceful restart): the feed closes by itself, not before, is never
#   stale afterwards although PrepUpdateInterval is 1 s, the journal says
#   "closed" by PrepPublishUntil, the banner says "Cierre del PREP"
#   (plazofin);
#   PrepDrill on with PrepPublishFrom in the future: served anyway,
#   X-PREP-Drill: 1, SIMULACRO before the corte time in the banner,
#   "drill": true in the status and on every journal line, a corte a day
#   ahead accepted; reset leaves it waiting (simulacro);
#   prepctl drill on|off on a normal feed: the header and the status within
#   2 s, the banner after its republish; reset after the drill leaves the
#   feed waiting, no longer a drill (ensayo).
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use POSIX ();
use Time::HiRes qw(time sleep);
use PrepTest;

my $tmp = tmp_dir();
my $me  = unix_user();
my $CDT = -6 * 3600;
my $CIERRE = 'Cierre del PREP';

sub state_of { (status_feed(shift) || {})->{state} // '' }

sub ok_result {
    my ($r, $what) = @_;
    is $r->{rc}, 0, "$what: exit 0" or diag "$r->{cmd}: rc $r->{rc}\nstdout: $r->{out}\nstderr: $r->{err}";
}

# Watches the state for `secs` seconds; returns the states seen.
sub states_during {
    my ($feed, $secs) = @_;
    my %seen;
    my $end = time + $secs;
    while (time < $end) {
        $seen{ state_of($feed) }++;
        sleep 0.25;
    }
    return \%seen;
}

# The bytes the module inserted into FEED's index.html at URL (undef when
# the page is not the corte's with something inserted).
sub inserted {
    my ($url, $tree) = @_;
    my $r = http(GET => $url);
    return undef unless $r->code == 200;
    return banner_split($r->content, slurp("$tree/index.html"));
}

# ================================================================ prepctl close
{
    my $feed = 'cierre';
    my $iso1 = '2024-06-02T23:00:00-06:00';
    my $pkg1 = make_package(out => "$tmp/PREP_cierre_1.tar.gz", corte => $iso1, seed => 231, files => 300);
    my $tree1 = extract_package($pkg1);
    my ($f) = upload_and_wait($pkg1, $feed, timeout => 20);
    ok $f, 'cierre: a corte is published' or give_up('cierre: no corte');
    my $ins = inserted("/estado/cierre/index.html", $tree1);
    ok defined $ins && $ins !~ /\Q$CIERRE\E/, 'before the close {{estado}} does not say the close';

    my $r = prepctl_idle('close', $feed);
    ok_result($r, 'prepctl close cierre');
    ok wait_for(2, sub { state_of($feed) eq 'closed' }, 0.1), 'within 2 s the state is closed';
    is http(GET => "/prep-status?check=$feed")->code, 200, '?check=cierre → 200 when closed';
    my $j = wait_journal($feed, 5, sub { $_[0]{event} eq 'closed' });
    ok $j, 'journal: "closed"';
    is $j && $j->{user}, $me, "journal: closed by $me";
    is $j && $j->{by}, 'prepctl', 'journal: by prepctl';
    ok wait_for(20, sub { my $i = inserted('/estado/cierre/index.html', $tree1); $i && $i =~ /\Q$CIERRE\E/ }),
        '{{estado}} says "Cierre del PREP" once closed';
    my $seen = states_during($feed, 7);
    is_deeply [sort keys %$seen], ['closed'], 'closed for 7 s (3 x PrepUpdateInterval 2s): never stale';
    is http(GET => "/prep/$feed/json/main.json")->header('X-PREP-Corte'), $iso1, 'the last corte stays served';

    my $iso2 = '2024-06-02T23:30:00-06:00';
    my $pkg2 = make_package(out => "$tmp/PREP_cierre_2.tar.gz", corte => $iso2, seed => 232, files => 300);
    my $tree2 = extract_package($pkg2);
    my $n = scalar(journal_lines($feed));
    my ($g) = upload_and_wait($pkg2, $feed, timeout => 20);
    ok $g, 'a package that still arrives after the close is taken';
    is http(GET => "/prep/$feed/json/main.json")->header('X-PREP-Corte'), $iso2, 'and served';
    ok wait_journal($feed, 5, sub { $_[0]{event} eq 'published' }, $n), 'and journaled as published';
    is state_of($feed), 'closed', 'the feed stays closed';
    my $i2 = inserted('/estado/cierre/index.html', $tree2);
    ok $i2 && $i2 =~ /\Q$CIERRE\E/, 'its banner says "Cierre del PREP" too';
}

# ================================================================ PrepPublishUntil
{
    my $feed = 'plazofin';
    my $iso = '2024-06-02T23:40:00-06:00';
    my $pkg = make_package(out => "$tmp/PREP_plazofin.tar.gz", corte => $iso, seed => 241, files => 300);
    my $tree = extract_package($pkg);
    my ($f) = upload_and_wait($pkg, $feed, timeout => 20);
    ok $f, 'plazofin: a corte is published' or give_up('plazofin: no corte');

    my $until = int(time) + 10;
    my $until_iso = iso_in_zone($until, $CDT);
    spit(t_dir() . '/conf/plazofin-hasta.conf', "PrepPublishUntil $until_iso\n");
    my $n = scalar(journal_lines($feed));
    restart_graceful();
    my $s = wait_for(10, sub { my $s = status_feed($feed); $s && defined $s->{publish_until} ? $s : undef });
    ok $s, 'after the graceful restart the status has publish_until';
    is $s && iso_to_epoch($s->{publish_until} // ''), $until, "publish_until is $until_iso";
    my $early = states_during($feed, $until - time - 1.5);
    ok !$early->{closed}, 'not closed before PrepPublishUntil' or diag explain $early;
    my $closed = wait_for(6, sub { state_of($feed) eq 'closed' }, 0.1);
    ok $closed, 'closed by itself at PrepPublishUntil';
    cmp_ok time, '>=', $until - 0.5, 'not before it';
    my $j = wait_journal($feed, 5, sub { $_[0]{event} eq 'closed' }, $n);
    ok $j, 'journal: "closed"' or diag join "\n", journal_lines($feed);
    like $j && $j->{by} // '', qr/PrepPublishUntil/i, 'journal: closed by PrepPublishUntil';
    my $seen = states_during($feed, 5);
    is_deeply [sort keys %$seen], ['closed'], 'closed for 5 s (PrepUpdateInterval 1s): never stale';
    is http(GET => "/prep-status?check=$feed")->code, 200, '?check=plazofin → 200';
    ok !(grep { $_ && $_->{event} eq 'stale' && (iso_to_epoch($_->{at}) // 0) >= $until } journal($feed)),
        'no "stale" journaled after the close';
    ok wait_for(20, sub { my $i = inserted("/prep/$feed/index.html", $tree); $i && $i =~ /\Q$CIERRE\E/ }),
        'the banner ({{estado}}) says "Cierre del PREP"';
    is http(GET => "/prep/$feed/json/main.json")->header('X-PREP-Corte'), $iso, 'the last corte stays served';
    unlink t_dir() . '/conf/plazofin-hasta.conf';
}

# ================================================================ PrepDrill on
{
    my $feed = 'simulacro';
    my $s = wait_for(5, sub { status_feed($feed) }) || {};
    ok $s->{drill}, 'simulacro: status drill true';
    is $s->{state}, 'waiting', 'without a corte: waiting, not embargoed (no embargo in a drill)';

    # A corte a day ahead, at a whole minute (drill packages carry the
    # election day's times).
    my $t = int((time + 86400) / 60) * 60;
    my $iso = iso_in_zone($t, $CDT);
    my $pkg = make_package(out => "$tmp/PREP_simulacro.tar.gz", corte => $iso, seed => 251, files => 300);
    my $tree = extract_package($pkg);
    my ($f) = upload_and_wait($pkg, $feed, timeout => 20);
    ok $f, "a corte a day ahead ($iso) is accepted in a drill"
        or diag explain status_feed($feed);
    $s = status_feed($feed) || {};
    is $s->{state}, 'serving', 'served although PrepPublishFrom is in 2035';
    ok $s->{drill}, 'status: drill true';
    my $r = http(GET => "/prep/$feed/json/main.json");
    is $r->code, 200, 'json/main.json: 200 (no embargo)';
    is $r->header('X-PREP-Corte'), $iso, 'the drill corte';
    is $r->header('X-PREP-Drill'), '1', 'X-PREP-Drill: 1';
    ok $r->content eq slurp("$tree/json/main.json"), 'the corte\'s bytes';
    $r = http(GET => "/prep/$feed/index.html");
    is $r->header('X-PREP-Drill'), '1', 'index.html: X-PREP-Drill: 1';
    my $ins = banner_split($r->content, slurp("$tree/index.html"));
    my $label = corte_label($iso);
    ok defined $ins && $ins =~ /SIMULACRO.*\Q$label\E/s, 'the banner says SIMULACRO before the corte time'
        or diag $ins // $r->content;
    my @j = journal($feed);
    ok scalar(@j), 'the drill feed has a journal';
    my @unmarked = grep { !$_ || !($_->{drill} && $_->{drill} eq '1') } @j;
    is_deeply [map { $_ ? $_->{event} : 'unparsed' } @unmarked], [], 'every journal line carries "drill": true';
    ok((grep { $_ && $_->{event} eq 'published' } @j), 'among them "published"');

    $r = prepctl_idle('reset', $feed, '--yes');
    ok_result($r, 'prepctl reset simulacro --yes');
    ok wait_for(2, sub { state_of($feed) eq 'waiting' }, 0.1), 'after the drill, reset leaves the feed waiting';
}

# ================================================================ prepctl drill
{
    my $feed = 'ensayo';
    my $iso = '2024-06-02T23:50:00-06:00';
    my $pkg = make_package(out => "$tmp/PREP_ensayo.tar.gz", corte => $iso, seed => 261, files => 300);
    my $tree = extract_package($pkg);
    my ($f) = upload_and_wait($pkg, $feed, timeout => 20);
    ok $f, 'ensayo: a corte is published' or give_up('ensayo: no corte');
    ok !$f->{drill}, 'not a drill';
    my $r = http(GET => "/prep/$feed/json/main.json");
    ok !defined $r->header('X-PREP-Drill'), 'no X-PREP-Drill';
    my $ins = inserted("/prep/$feed/index.html", $tree);
    ok defined $ins && $ins !~ /SIMULACRO/, 'the banner does not say SIMULACRO';

    # A client requests all along the drill on and off and their banner
    # republishes (the corte's id stays, its pack is rebuilt): every
    # answer is a 200 of that corte.
    my $stop = "$tmp/stop-ensayo";
    my $log = "$tmp/ensayo-client.log";
    my $client = fork // die "fork: $!";
    if (!$client) {
        open my $out, '>', $log or POSIX::_exit(2);
        my $fd = select $out; $| = 1; select $fd;
        my $deadline = time + 75;
        my $i = 0;
        while (!-e $stop && time < $deadline) {
            my $path = $i++ % 2 ? 'index.html' : 'json/main.json';
            my $a = eval { http(GET => "/prep/$feed/$path") };
            my $why = !$a ? "died: $@"
                    : $a->code != 200 ? 'status ' . $a->code
                    : ($a->header('X-PREP-Corte') // '') ne $iso ? 'X-PREP-Corte ' . ($a->header('X-PREP-Corte') // 'none')
                    : $path eq 'json/main.json' && $a->content ne slurp("$tree/json/main.json") ? 'not the corte\'s bytes'
                    : undef;
            print $out $why ? "FAIL $path: $why\n" : "OK $path\n";
        }
        close $out;
        POSIX::_exit(0);
    }

    $r = prepctl_idle('drill', $feed, 'on');
    ok_result($r, 'prepctl drill ensayo on');
    ok wait_for(2, sub { (http(GET => "/prep/$feed/json/main.json")->header('X-PREP-Drill') // '') eq '1' }, 0.1),
        'within 2 s: X-PREP-Drill: 1';
    ok wait_for(2, sub { (status_feed($feed) || {})->{drill} }, 0.1), 'within 2 s: status drill true';
    my $label = corte_label($iso);
    ok wait_for(20, sub { my $i = inserted("/prep/$feed/index.html", $tree); $i && $i =~ /SIMULACRO.*\Q$label\E/s }),
        'after its republish the banner says SIMULACRO before the corte time';
    is http(GET => "/prep/$feed/json/main.json")->header('X-PREP-Corte'), $iso, 'the same corte time is served';
    my $j = wait_journal($feed, 5, sub { $_[0]{event} eq 'drill' });
    ok $j, 'journal: "drill"';
    is $j && $j->{user}, $me, "journal: drill by $me";
    ok $j && $j->{on}, 'journal: on';

    $r = prepctl_idle('drill', $feed, 'off');
    ok_result($r, 'prepctl drill ensayo off');
    ok wait_for(2, sub { !defined http(GET => "/prep/$feed/json/main.json")->header('X-PREP-Drill') }, 0.1),
        'within 2 s: no X-PREP-Drill';
    ok wait_for(2, sub { my $s = status_feed($feed); $s && !$s->{drill} }, 0.1), 'within 2 s: status drill false';
    ok wait_for(20, sub { my $i = inserted("/prep/$feed/index.html", $tree); defined $i && $i =~ /\Q$label\E/ && $i !~ /SIMULACRO/ }),
        'after its republish the banner no longer says SIMULACRO';
    ok wait_journal($feed, 5, sub { $_[0]{event} eq 'drill' && !$_[0]{on} }), 'journal: drill off';
    spit($stop, 1);
    waitpid($client, 0);
    my @lines = -e $log ? split /\n/, slurp($log) : ();
    my @fail = grep { /^FAIL/ } @lines;
    cmp_ok scalar(@lines), '>=', 50, 'a client requested all along (' . scalar(@lines) . ' requests)';
    is_deeply [@fail[0 .. ($#fail < 4 ? $#fail : 4)]], [],
        'no request failed while the drill banner was republished, on and off' or diag scalar(@fail) . ' failures';

    $r = prepctl_idle('drill', $feed, 'on');
    ok_result($r, 'prepctl drill ensayo on (again)');
    ok wait_for(2, sub { (status_feed($feed) || {})->{drill} }, 0.1), 'a drill again';
    $r = prepctl_idle('reset', $feed, '--yes');
    ok_result($r, 'prepctl reset ensayo --yes after the drill');
    my $s = wait_for(2, sub { my $s = status_feed($feed); $s && $s->{state} eq 'waiting' ? $s : undef }, 0.1);
    ok $s, 'the feed is waiting for the real night';
    ok $s && !$s->{drill}, 'and no longer a drill';
    ok !defined http(GET => "/prep/$feed/json/main.json")->header('X-PREP-Drill'), 'no X-PREP-Drill after the reset';
}

done_testing;
