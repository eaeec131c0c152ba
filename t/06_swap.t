# Swapping cortes under load: two client processes request files in a loop
# (one plain, one asking for gzip) while ten new packages are published.
# No request fails, no 5xx, and every response is entirely one corte's
# version: its body (gunzipped for the gzip client) is byte-identical to
# that corte's file named by its own X-PREP-Corte header.  Feed: carga.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use POSIX ();
use IO::Uncompress::Gunzip qw(gunzip);
use Time::HiRes qw(time sleep);
use PrepTest;

my $feed = 'carga';
my $base = "/prep/$feed";
my $tmp  = tmp_dir();

my @cortes = map { sprintf '2024-06-02T21:%02d:00-06:00', $_ } map { 5 * $_ } 1 .. 11;
my (@pkgs, %expect);    # $expect{corte iso}{path} = sha256 of the served bytes
my @paths = ('json/main.json', 'datos/PRES_2024.csv', 'json/distritos/distrito-03.json',
             'json/casillas/0001-B.json', 'index.html');
for my $i (0 .. $#cortes) {
    my $pkg = make_package(out => "$tmp/PREP_carga_$i.tar.gz", corte => $cortes[$i],
                           seed => 60 + $i, only_data_changes_from => 60, files => 800);
    push @pkgs, $pkg;
    my $tree = extract_package($pkg);
    $expect{ $cortes[$i] }{$_} = sha256_hex(slurp("$tree/$_")) for grep { !/\.html$/ } @paths;
    $expect{ $cortes[$i] }{'index.html#orig'} = slurp("$tree/index.html");
}

my ($f) = upload_and_wait($pkgs[0], $feed, timeout => 20);
ok $f, 'the first corte is published' or give_up('carga: no corte');

my $stop = "$tmp/stop";

# A client: sequential requests until told to stop (at most 150 s), one
# line per response in its log.
sub client {
    my ($log, $gzip) = @_;
    open my $out, '>', $log or POSIX::_exit(2);
    my $fd = select $out; $| = 1; select $fd;
    my $deadline = time + 150;
    my $i = 0;
    while (!-e $stop && time < $deadline) {
        my $path = $paths[$i++ % @paths];
        my $r = eval { http(GET => "$base/$path", $gzip ? ('Accept-Encoding' => 'gzip') : ()) };
        if (!$r) {
            print $out "FAIL $path: request died: $@\n";
            next;
        }
        my $corte = $r->header('X-PREP-Corte') // '';
        my $body = $r->content;
        my $why;
        if ($r->code != 200) {
            $why = 'status ' . $r->code . ($r->header('Client-Warning') ? ' (' . $r->header('Client-Warning') . ')' : '');
        }
        elsif (!$expect{$corte}) {
            $why = "unknown X-PREP-Corte '$corte'";
        }
        elsif (defined $r->header('Content-Length') && $r->header('Content-Length') != length $body) {
            $why = 'Content-Length ' . $r->header('Content-Length') . ' but ' . length($body) . ' bytes';
        }
        elsif (($r->header('Content-Encoding') // '') eq 'gzip') {
            my $plain;
            $why = 'gzip body does not inflate' unless gunzip(\$body => \$plain);
            $body = $plain;
        }
        if ($why) {
            # already decided
        }
        elsif ($path eq 'index.html') {
            my $ins = banner_split($body, $expect{$corte}{'index.html#orig'});
            my $label = corte_label($corte);
            $why = 'HTML is not this corte\'s with its banner' unless defined $ins && $ins =~ /\Q$label\E/;
        }
        elsif (sha256_hex($body) ne $expect{$corte}{$path}) {
            $why = 'body is not this corte\'s file';
        }
        if ($path eq 'json/main.json' && !$why) {
            my ($fc) = $body =~ /"fechaCorte":\s*"([^"]+)"/;
            $why = "fechaCorte $fc but X-PREP-Corte $corte" unless ($fc // '') eq $corte;
        }
        print $out $why ? "FAIL $path [$corte]: $why\n" : "OK $path $corte " . ($r->header('Content-Encoding') // 'identity') . "\n";
    }
    close $out;
    POSIX::_exit(0);
}

my %logs = (plain => "$tmp/plain.log", gzip => "$tmp/gzip.log");
my @clients;
for my $kind (sort keys %logs) {
    my $pid = fork // die "fork: $!";
    client($logs{$kind}, $kind eq 'gzip') unless $pid;
    push @clients, $pid;
}

my @published;
for my $i (1 .. $#cortes) {
    sleep 0.5;
    my ($g) = upload_and_wait($pkgs[$i], $feed, timeout => 30);
    push @published, $g ? $g->{corte}{time} : 'none';
}
sleep 1.5;
spit($stop, "1");
for my $pid (@clients) {
    next if wait_for(30, sub { waitpid($pid, POSIX::WNOHANG()) == $pid });
    kill 'TERM', $pid;
    waitpid($pid, 0);
}
is_deeply \@published, [@cortes[1 .. $#cortes]], 'the ten new cortes were published, in order';

for my $kind (sort keys %logs) {
    my @lines = -e $logs{$kind} ? split /\n/, slurp($logs{$kind}) : ();
    my @fail = grep { /^FAIL/ } @lines;
    my %seen = map { (split / /)[2] => 1 } grep { /^OK/ } @lines;
    diag sprintf '%s client: %d requests during the swaps, %d cortes seen', $kind, scalar(@lines), scalar(keys %seen);
    cmp_ok scalar(@lines), '>=', 200, "$kind client: at least 200 requests";
    is_deeply [@fail[0 .. ($#fail < 9 ? $#fail : 9)]], [], "$kind client: no request failed, no 5xx, every body one corte's version"
        or diag scalar(@fail) . ' failures';
    cmp_ok scalar(keys %seen), '>=', 6, "$kind client: saw at least 6 cortes (swaps happened under load)";
    ok $seen{ $cortes[-1] }, "$kind client: and finally the last one";
    if ($kind eq 'gzip') {
        ok scalar(grep { / gzip$/ } @lines), 'the gzip client got gzip variants';
    }
}

done_testing;
