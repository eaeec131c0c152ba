# prepctl acting on a live feed, against a real httpd:
#
#   rollback while two clients (plain and gzip) request an HTML page and
#   json/main.json for 8 s: no request fails, no answer mixes cortes
#   (X-PREP-Corte, the banner's time and the bytes agree), within 2 s
#   every answer is the previous corte's, the banner shows its time, the
#   state is "pinned", the journal has "rollback" with the user (reversa);
#   pin, then three new packages: the served corte stays, "newest"
#   advances, three "retained" lines; unpin: the newest is served within
#   2 s (fijo);
#   reset without stopping Apache: without --yes and no terminal it is
#   refused (exit 1); with --yes the feed is waiting and answers as a feed
#   without a corte does, STORE/archive/<time>/ holds the cortes, the
#   processed and the rejected packages; a new package is then published
#   (reinicio);
#   prepctl's refusals, exit 1 with a message: an unknown feed, an unknown
#   corte id, nothing to roll back to, a load running (STORE/loader.lock
#   held with flock); exit 2 for bad usage (reinicio).
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use POSIX ();
use IO::Uncompress::Gunzip qw(gunzip);
use Time::HiRes qw(time sleep);
use PrepTest;

my $tmp  = tmp_dir();
my $me   = unix_user();
my @paths = ('json/main.json', 'index.html');

sub served_time {
    my ($feed) = @_;
    return http(GET => "/prep/$feed/json/main.json")->header('X-PREP-Corte') // '';
}

sub is_ok_result {
    my ($r, $what) = @_;
    is $r->{rc}, 0, "$what: exit 0" or diag "$r->{cmd}: rc $r->{rc}\nstdout: $r->{out}\nstderr: $r->{err}";
}

sub refused_ok {
    my ($r, $rc, $re, $what) = @_;
    is $r->{rc}, $rc, "$what: exit $rc" or diag "$r->{cmd}: rc $r->{rc}\nstdout: $r->{out}\nstderr: $r->{err}";
    like $r->{err}, $re, "$what: says why on stderr" or diag "stderr: $r->{err}";
}

# ================================================================ rollback
{
    my $feed = 'reversa';
    my @cortes = ('2024-06-02T21:05:00-06:00', '2024-06-02T21:10:00-06:00');
    my (%expect, @pkgs, @ids);
    for my $i (0 .. 1) {
        my $pkg = make_package(out => "$tmp/PREP_reversa_$i.tar.gz", corte => $cortes[$i],
                               seed => 201 + $i, only_data_changes_from => 201, files => 300);
        push @pkgs, $pkg;
        my $tree = extract_package($pkg);
        $expect{ $cortes[$i] }{'json/main.json'} = sha256_hex(slurp("$tree/json/main.json"));
        $expect{ $cortes[$i] }{'index.html#orig'} = slurp("$tree/index.html");
        my ($f) = upload_and_wait($pkg, $feed, timeout => 20);
        ok $f, "reversa: corte $cortes[$i] published" or give_up('reversa: no corte');
        push @ids, $f->{corte}{id};
    }
    is served_time($feed), $cortes[1], 'reversa: the newer corte is served';

    my $stop = "$tmp/stop-reversa";
    # A client: requests until told to stop (at most 12 s); one line per
    # answer: when the request started, OK or FAIL, the corte.
    my $client = sub {
        my ($log, $gzip) = @_;
        open my $out, '>', $log or POSIX::_exit(2);
        my $fd = select $out; $| = 1; select $fd;
        my $deadline = time + 12;
        my $i = 0;
        while (!-e $stop && time < $deadline) {
            my $path = $paths[$i++ % @paths];
            my $t = time;
            my $r = eval { http(GET => "/prep/$feed/$path", $gzip ? ('Accept-Encoding' => 'gzip') : ()) };
            if (!$r) { printf $out "%.3f FAIL - %s: request died: %s\n", $t, $path, $@; next }
            my $corte = $r->header('X-PREP-Corte') // '';
            my $body = $r->content;
            my $why;
            if ($r->code != 200) { $why = 'status ' . $r->code }
            elsif (!$expect{$corte}) { $why = "unknown X-PREP-Corte '$corte'" }
            elsif (($r->header('Content-Encoding') // '') eq 'gzip') {
                my $plain;
                $why = 'gzip body does not inflate' unless gunzip(\$body => \$plain);
                $body = $plain;
            }
            if ($why) { }
            elsif ($path eq 'index.html') {
                my $ins = banner_split($body, $expect{$corte}{'index.html#orig'});
                my $label = corte_label($corte);
                $why = 'HTML is not this corte\'s with its banner (mixed cortes?)'
                    unless defined $ins && $ins =~ /\Q$label\E/;
            }
            elsif (sha256_hex($body) ne $expect{$corte}{$path}) {
                $why = 'body is not this corte\'s main.json (mixed cortes?)';
            }
            printf $out "%.3f %s %s %s%s\n", $t, $why ? 'FAIL' : 'OK', $corte, $path, $why ? ": $why" : '';
        }
        close $out;
        POSIX::_exit(0);
    };
    my %logs = (plain => "$tmp/reversa-plain.log", gzip => "$tmp/reversa-gzip.log");
    my @clients;
    for my $kind (sort keys %logs) {
        my $pid = fork // die "fork: $!";
        $client->($logs{$kind}, $kind eq 'gzip') unless $pid;
        push @clients, $pid;
    }
    sleep 2.5;
    my $t_rb = time;
    my $rb = prepctl('rollback', $feed);
    my $t_done = time;
    is_ok_result($rb, 'prepctl rollback reversa');
    diag sprintf 'prepctl rollback took %.2f s', $t_done - $t_rb;
    my $back = wait_for(2, sub { served_time($feed) eq $cortes[0] }, 0.05);
    ok $back, 'within 2 s the previous corte is served';
    sleep 4;
    spit($stop, 1);
    for my $pid (@clients) {
        next if wait_for(20, sub { waitpid($pid, POSIX::WNOHANG()) == $pid });
        kill 'TERM', $pid;
        waitpid($pid, 0);
    }
    for my $kind (sort keys %logs) {
        my @lines = -e $logs{$kind} ? split /\n/, slurp($logs{$kind}) : ();
        my @fail = grep { / FAIL / } @lines;
        my @late_new = grep { my ($t, $ok, $c) = split / /; $t > $t_done + 2 && $c ne $cortes[0] } @lines;
        my %seen = map { (split / /)[2] => 1 } grep { / OK / } @lines;
        diag sprintf '%s client: %d requests around the rollback', $kind, scalar(@lines);
        cmp_ok scalar(@lines), '>=', 50, "$kind client: at least 50 requests";
        is_deeply [@fail[0 .. ($#fail < 4 ? $#fail : 4)]], [], "$kind client: no request failed, none mixed cortes"
            or diag scalar(@fail) . ' failures';
        ok $seen{ $cortes[1] } && $seen{ $cortes[0] }, "$kind client: saw the corte before and after the rollback";
        is_deeply [@late_new[0 .. ($#late_new < 4 ? $#late_new : 4)]], [],
            "$kind client: 2 s after prepctl returned every answer is the previous corte's";
    }
    my $r = http(GET => "/prep/$feed/index.html");
    my $ins = banner_split($r->content, $expect{ $cortes[0] }{'index.html#orig'});
    ok defined $ins && $ins =~ /\Q${\ corte_label($cortes[0])}\E/, 'the banner shows the rolled-back corte time';
    my $s = status_feed($feed) || {};
    is $s->{state}, 'pinned', 'status: state pinned';
    ok $s->{pinned}, 'status: pinned true';
    is ref $s->{corte} eq 'HASH' && $s->{corte}{id}, $ids[0], 'status: the corte served is the previous one';
    is http(GET => "/prep-status?check=$feed")->code, 200, '?check= a pinned feed: 200';
    my $j = wait_journal($feed, 5, sub { $_[0]{event} eq 'rollback' });
    ok $j, 'journal: "rollback"' or diag join "\n", journal_lines($feed);
    is $j && $j->{user}, $me, "journal: rollback by $me";
    like $j ? JSON::PP->new->canonical->encode($j) : '', qr/\Q$ids[0]\E/, 'journal: rollback names the corte served';
}

# ================================================================ pin, unpin
{
    my $feed = 'fijo';
    my @cortes = map { "2024-06-02T21:$_:00-06:00" } qw(00 05 10 15);
    my @pkgs = map { make_package(out => "$tmp/PREP_fijo_$_.tar.gz", corte => $cortes[$_],
                                  seed => 211 + $_, files => 300) } 0 .. 3;
    my ($f) = upload_and_wait($pkgs[0], $feed, timeout => 20);
    ok $f, 'fijo: first corte published' or give_up('fijo: no corte');
    my $id0 = $f->{corte}{id};
    my $pin = prepctl('pin', $feed);
    is_ok_result($pin, 'prepctl pin fijo');
    ok wait_for(2, sub { (status_feed($feed) || {})->{state} eq 'pinned' }), 'within 2 s the state is pinned';
    my $jp = wait_journal($feed, 5, sub { $_[0]{event} eq 'pin' });
    is $jp && $jp->{user}, $me, "journal: pin by $me";

    my $nret = 0;
    for my $i (1 .. 3) {
        my $n = scalar(journal_lines($feed));
        upload_renamed($pkgs[$i], $feed);
        my $ret = wait_journal($feed, 30, sub { $_[0]{event} eq 'retained' }, $n);
        ok $ret, "package $i while pinned: journal \"retained\"" or diag join "\n", journal_lines($feed);
        $nret++ if $ret;
        my $s = wait_for(5, sub {
            my $s = status_feed($feed);
            $s && ref $s->{newest} eq 'HASH' && ($s->{newest}{time} // '') eq $cortes[$i] ? $s : undef;
        }) || status_feed($feed) || {};
        is ref $s->{newest} eq 'HASH' && $s->{newest}{time}, $cortes[$i], "status: newest is corte $cortes[$i]";
        is $s->{state}, 'pinned', 'status: still pinned';
        is ref $s->{corte} eq 'HASH' && $s->{corte}{id}, $id0, 'status: the pinned corte is still served';
        is served_time($feed), $cortes[0], 'the pinned corte is still what is served';
    }
    is scalar(grep { $_ && $_->{event} eq 'retained' } journal($feed)), 3, 'journal: "retained" three times';

    my $un = prepctl('unpin', $feed);
    is_ok_result($un, 'prepctl unpin fijo');
    ok wait_for(2, sub { served_time($feed) eq $cortes[3] }, 0.05), 'within 2 s of unpin the newest of the three is served'
        or diag 'served: ' . served_time($feed);
    my $s = wait_for(3, sub { my $s = status_feed($feed); $s && $s->{state} eq 'serving' ? $s : undef });
    ok $s, 'status: serving again';
    ok $s && !$s->{pinned}, 'status: pinned false';
    my $ju = wait_journal($feed, 5, sub { $_[0]{event} eq 'unpin' });
    is $ju && $ju->{user}, $me, "journal: unpin by $me";
}

# ================================================================ reset
{
    my $feed = 'reinicio';
    my @pkgs = map { make_package(out => "$tmp/PREP_reinicio_$_.tar.gz",
                                  corte => "2024-06-02T22:0$_:00-06:00", seed => 221 + $_, files => 300) } 0 .. 2;
    upload_and_wait($pkgs[0], $feed, timeout => 20) or give_up('reinicio: no corte');
    my ($f) = upload_and_wait($pkgs[1], $feed, timeout => 20);
    ok $f, 'reinicio: two cortes published';
    my $bad = "$tmp/PREP_reinicio_roto.tar.gz";
    spit($bad, "no es un paquete\n" x 100);
    upload_renamed($bad, $feed);
    ok wait_rejected($feed, 'PREP_reinicio_roto.tar.gz', 20), 'and a broken package refused';

    my $r = prepctl('reset', $feed);
    refused_ok($r, 1, qr/\S/, 'prepctl reset without --yes and no terminal');
    is corte_id($feed), $f->{corte}{id}, 'nothing was reset';

    $r = prepctl('reset', $feed, '--yes');
    is_ok_result($r, 'prepctl reset reinicio --yes');
    my $s = wait_for(2, sub { my $s = status_feed($feed); $s && $s->{state} eq 'waiting' ? $s : undef });
    ok $s, 'within 2 s the feed is waiting, Apache still running';
    ok $s && !(ref $s->{corte} eq 'HASH' && keys %{ $s->{corte} }), 'status: no corte';
    for my $path ('json/main.json', 'index.html') {
        my $a = http(GET => "/prep/$feed/$path");
        my $b = http(GET => "/prep/vacia/$path");
        is $a->code, $b->code, "$path answers " . $b->code . ' as for a feed without a corte';
        ok !defined $a->header('X-PREP-Corte'), "$path: no X-PREP-Corte";
    }
    is http(GET => "/prep-status?check=$feed")->code, 503, '?check= after reset: 503 (waiting)';
    my @arch = glob(store($feed) . '/archive/*');
    is scalar(@arch), 1, 'one folder in STORE/archive' or diag "@arch";
    my $a = $arch[0] // '/nonexistent';
    like $a, qr{/archive/\d{8}-\d{6}(?:-\d+)?$}, 'named by the time';
    my @c = glob("$a/cortes/*");
    cmp_ok scalar(@c), '>=', 2, 'the archive holds the cortes' or diag `find $a -maxdepth 2`;
    ok scalar(glob("$a/processed/*")), 'the processed packages';
    ok -e "$a/rejected/PREP_reinicio_roto.tar.gz", 'the rejected package';
    is scalar(store_cortes($feed)), 0, 'STORE/cortes is empty';
    my $jr = wait_journal($feed, 5, sub { $_[0]{event} eq 'reset' });
    is $jr && $jr->{user}, $me, "journal: reset by $me";
    ok -s store($feed) . '/journal.jsonl', 'the journal stays in the store';

    ($f) = upload_and_wait($pkgs[2], $feed, timeout => 20);
    ok $f, 'a new package after the reset is published';
    is $f && $f->{state}, 'serving', 'state serving';
    is served_time($feed), '2024-06-02T22:02:00-06:00', 'and served';

    # ---------------------------------------------------------------- refusals
    $r = prepctl('rollback', $feed);
    refused_ok($r, 1, qr/roll|before|previous|nothing|only/i, 'rollback with nothing to roll back to');
    is served_time($feed), '2024-06-02T22:02:00-06:00', 'the corte served stays';

    $r = prepctl('rollback', $feed, '20240602-999999-nada');
    refused_ok($r, 1, qr/20240602-999999-nada|unknown|no corte/i, 'rollback to an unknown corte id');
    $r = prepctl('pin', $feed, '20240602-999999-nada');
    refused_ok($r, 1, qr/20240602-999999-nada|unknown|no corte/i, 'pin an unknown corte id');

    for my $cmd (['rollback'], ['pin'], ['unpin'], ['reset', '--yes'], ['close'], ['drill', undef, 'on'],
                 ['cortes'], ['events'], ['status']) {
        my @a = @$cmd;
        my $word = shift @a;
        @a = grep { defined } @a;
        $r = prepctl($word, 'noexiste', @a);
        refused_ok($r, 1, qr/noexiste/, "prepctl $word of an unknown feed");
    }

    # A load running: the store's lock held by someone else.
    my $lock = store($feed) . '/loader.lock';
    my $held = "$tmp/held";
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        POSIX::setsid();    # its own group: the sleep holding the lock ends with it
        { exec 'flock', '-x', $lock, 'sh', '-c', "touch $held; sleep 15" };
        POSIX::_exit(127);
    }
    ok wait_for(5, sub { -e $held }), 'STORE/loader.lock is held (flock)';
    for my $cmd (['rollback'], ['pin'], ['reset', '--yes']) {
        my ($word, @a) = @$cmd;
        my $t0 = time;
        $r = prepctl({ timeout => 20 }, $word, $feed, @a);
        refused_ok($r, 1, qr/load|lock|busy|running/i, "prepctl $word while a load holds the lock");
        cmp_ok time - $t0, '<', 10, "prepctl $word does not wait for the load";
    }
    kill 'TERM', -$pid;
    waitpid($pid, 0);
    is served_time($feed), '2024-06-02T22:02:00-06:00', 'nothing changed while the lock was held';
    ok !(grep { $_ && $_->{event} =~ /^(rollback|pin)$/ } journal($feed)), 'and nothing refused was journaled as done';

    # Bad usage: exit 2.
    for my $args (['rollback'], ['frobnicar', $feed], ['drill', $feed], ['drill', $feed, 'quizas'],
                  ['events', $feed, '--since'], ['rollback', $feed, 'a', 'b']) {
        $r = prepctl({ raw => 1 }, @$args);
        is $r->{rc}, 2, "prepctl @$args: exit 2 (bad usage)" or diag "rc $r->{rc}: $r->{err}";
        like $r->{err}, qr/\S/, "prepctl @$args: says so on stderr";
    }
}

done_testing;
